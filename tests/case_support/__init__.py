"""What the tests over every rule case share: the file variants a fix must survive, and the importer that proves a
fixed module still imports."""
