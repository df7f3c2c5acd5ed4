-- One database per service: no service reads another's tables.
CREATE DATABASE reviews;
CREATE DATABASE drp;
CREATE DATABASE scorecard;
