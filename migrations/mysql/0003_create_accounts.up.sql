-- The transfer example: money moves between two rows in one transaction.
CREATE TABLE accounts (
    id      BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner   VARCHAR(255) NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0
);
