"""reportgen: turn Amazon CloudWatch graphs into PDF reports.

The pipeline reads top to bottom: ``spec`` loads YAML into the typed objects of ``model``, ``periods``
turns a report period into a time window, ``plan`` makes one request per widget, ``fetch`` sends them
through ``ratelimit`` and ``aws``, ``assemble`` lays the images out as a PDF, and ``cli`` ties it together.
``reportgen.local`` is the offline CloudWatch stand-in; the pipeline never imports it.
"""

__version__ = "0.1.0"
