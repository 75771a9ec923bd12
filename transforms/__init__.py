"""One module per step of the data flow, each with its Beam transform and the plain functions
it calls (testable without Beam)."""
