DROP TABLE load_floor;
