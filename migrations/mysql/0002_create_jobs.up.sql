-- The job-queue example: workers claim the oldest queued job
-- (`... WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`, MySQL 8 and
-- MariaDB 10.6 and later).
CREATE TABLE jobs (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    payload    TEXT NOT NULL,
    status     VARCHAR(16) NOT NULL DEFAULT 'queued',
    attempts   INT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);
CREATE INDEX jobs_status_id ON jobs (status, id);
