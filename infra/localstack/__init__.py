"""The local stack behind ``make run``: moto on loopback, real HTTP -> API Gateway events -> real handlers."""
