DROP TABLE app_secrets;
DROP TABLE auth_failures;
DROP TABLE setup_tokens;
DROP TABLE sessions;
DROP TABLE user_roles;
DROP TABLE roles;
DROP TABLE users;
