"""Reports for staff: figures per month, region and tariff category, read from summary tables that a periodic
task keeps up to date (summaries.py), and the few that are read live (arrears, people, complaints)."""
