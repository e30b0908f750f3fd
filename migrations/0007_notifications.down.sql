DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE notification_emails;
DROP TABLE notifications;
DROP TABLE notification_cursors;
