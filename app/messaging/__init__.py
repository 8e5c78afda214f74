"""Messages to a person's mobile number or email address (reset links, one-time codes, SMS alerts): written to
an outbox in the transaction that decided to send them, sent after its commit by the task queue. It sits below
the domains (auth sends reset links through it); notifications use it as their SMS channel."""
