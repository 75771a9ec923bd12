"""The reading side: what people look at of what runs brought in, without Beam.

- `browse`: `newsbeam stories list|show|export`, `events show`, `errors` (listings and exports).
- `report`: the one HTML page to read (`newsbeam report`), and the story HTML `serve` shows.
- `serve`: `newsbeam serve`, the web view and JSON API.
- `terminal`: text fit for a terminal; `where`: which store or output folder a command reads.
"""
