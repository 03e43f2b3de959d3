"""The tracking site ``orderhub api`` serves beside PostgREST (``ORDERHUB_SITE_PORT``, 3080).

A static page a customer opens in a browser, ``/track`` (HTML, JavaScript and CSS under
``static/``, no build step): English and Simplified Chinese, it asks PostgREST's
``/rpc/track`` for one order with its tracking token and shows the steps to the exact node,
the delivery promised and expected, and any open problem in plain words. The page reads
PostgREST's public URL from ``/config.json``. :mod:`.app` builds the Starlette application
(routes are a list to extend: :func:`.app.site_routes`); :mod:`.audit` serves an order's
audit bundle to the holder of its tracking token and the keys to check it with, which the
page's "Verify" button checks in the browser; :mod:`.server` runs the site with uvicorn in
a thread of ``orderhub api``. The page's extension points (the ``proof`` section, the
``orderhub:tracked`` event) are described in ``orderhub/site/README.md``.
"""
