"""The HTTP edge: how requests are read off the socket before the WSGI app sees them (the gunicorn worker).

Why a worker of our own: gunicorn's workers read a request in the thread that will run the app, so a client
that sends its headers or body slowly holds that thread (issue 16: two slow clients froze the service).
Here each worker's event loop reads every request whole, with deadlines and size limits, and only a complete
request reaches a thread. Errors found at this layer are answered as FHIR OperationOutcome JSON like every
other error of the service, never as gunicorn's HTML pages.
"""
