-- Users of the examples and of the repository layer. `version` is the optimistic-locking
-- counter: an update bumps it and checks it was not bumped by someone else first.
CREATE TABLE users (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    email      VARCHAR(255) UNIQUE,
    version    BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
