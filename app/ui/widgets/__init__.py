"""The station's widgets: each displays part of a `StationView` and forwards what the user asks
for as a signal; none of them knows the session or the database."""
