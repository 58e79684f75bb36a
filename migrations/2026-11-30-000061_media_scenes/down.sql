DROP TABLE scenes;
