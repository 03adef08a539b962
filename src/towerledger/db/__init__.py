"""Generic, set-wise SQL helpers (bulk insert by COPY, upsert, one-of filters, bulk set).

The bottom layer beside ``domain``: it knows Django's ORM and the two database backends but
no business app, so every app may use it (docs/architecture.md, "Layers")."""
