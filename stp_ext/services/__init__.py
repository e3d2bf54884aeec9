"""What the commands do, as functions returning dataclasses: no printing, no click."""
