"""Graph stores: the one seam between olgraph and where the graph lives."""
