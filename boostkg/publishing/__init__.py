"""What the graph publishes about itself: the VoID description of the dataset and the description
of each resource (its facts, the named graphs they come from, who loaded or submitted them)."""
