-- Governance tables. One text for SQLite and Postgres: integer money in
-- nano-dollars (no float drift in sums), times in unix milliseconds, JSON as text.
CREATE TABLE gateway_teams (
    team_id TEXT PRIMARY KEY,
    team_alias TEXT,
    models TEXT NOT NULL,
    max_budget_nanos BIGINT,
    budget_duration_secs BIGINT,
    budget_reset_at BIGINT,
    rpm_limit BIGINT,
    tpm_limit BIGINT,
    max_parallel_requests BIGINT,
    spend_nanos BIGINT NOT NULL DEFAULT 0,
    period_spend_nanos BIGINT NOT NULL DEFAULT 0,
    blocked BIGINT NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE gateway_keys (
    token_hash TEXT PRIMARY KEY,
    key_name TEXT NOT NULL,
    key_alias TEXT,
    team_id TEXT,
    user_id TEXT,
    models TEXT NOT NULL,
    max_budget_nanos BIGINT,
    budget_duration_secs BIGINT,
    budget_reset_at BIGINT,
    rpm_limit BIGINT,
    tpm_limit BIGINT,
    max_parallel_requests BIGINT,
    spend_nanos BIGINT NOT NULL DEFAULT 0,
    period_spend_nanos BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT,
    blocked BIGINT NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX gateway_keys_team ON gateway_keys (team_id);

-- One row per billed call; the request id makes a replayed batch a no-op.
CREATE TABLE gateway_spend_logs (
    request_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    team_id TEXT,
    model TEXT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    spend_nanos BIGINT NOT NULL,
    unpriced BIGINT NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT NOT NULL
);
CREATE INDEX gateway_spend_logs_key ON gateway_spend_logs (token_hash, end_time);

-- Bumped by every change to keys or teams: replicas poll it to know when to reload.
CREATE TABLE gateway_version (
    id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO gateway_version (id, version) VALUES (1, 0);
