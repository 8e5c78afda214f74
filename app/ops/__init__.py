"""Operations: health checks for the load balancer (/healthz, /readyz) and metrics for Prometheus (/metrics)."""
