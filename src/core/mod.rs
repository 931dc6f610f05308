//! Sans-I/O core (to be written).
