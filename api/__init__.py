"""HTTP front door for the council secretariat and scenario designers; arrives later."""
