DROP TABLE readiness_probe;
DROP TABLE idempotency_keys;
