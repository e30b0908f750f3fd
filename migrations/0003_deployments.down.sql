DROP TABLE signoffs;
DROP TABLE deployment_slots;
DROP TABLE deployment_notes;
DROP TABLE item_comments;
DROP TABLE deployment_items;
DROP TYPE item_state;
DROP TABLE deployments;
DROP TYPE deployment_status;
