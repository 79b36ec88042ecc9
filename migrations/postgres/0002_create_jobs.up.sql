-- The job-queue example: workers claim the oldest queued job
-- (`... WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`).
CREATE TABLE jobs (
    id         BIGSERIAL PRIMARY KEY,
    payload    TEXT NOT NULL,
    status     VARCHAR(16) NOT NULL DEFAULT 'queued',
    attempts   INT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_status_id ON jobs (status, id);
