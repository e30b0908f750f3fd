DROP TABLE live_viewers;
