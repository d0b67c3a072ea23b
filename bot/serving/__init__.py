"""Serving layer: what answers users at run time, around the Rasa server.

Rasa input channels (REST, socket.io, messaging connectors) named in `credentials.yml`, tracker
and lock stores named in `endpoints.yml`, how every Rasa server is started (`startup`), the tracker purge, the maintainers' inbox (`inbox`, `inbox_files`: shown by the console, written by
`python -m bot inbox` too), and our aiohttp web service (chat page
and staff console, `serving.web`). It may use the knowledge and nlu layers, never maintenance.
"""
