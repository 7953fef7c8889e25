"""Vendor device JSON -> Device, Patient and Observations through declarative templates.

``template`` defines the format, ``loader`` reads template files, ``readings`` builds the
Observations and ``mapper`` is the plugin; ``templates/`` holds the shipped templates.
"""
