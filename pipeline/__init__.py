"""newsbeam's pipeline: the graph that joins the transforms, the ways to run it, the CLI."""

import logging

# Importing Beam logs a warning about optional Google Cloud modules through the root logger,
# which would configure logging before the CLI does and print it to every user. A handler on
# the root logger keeps Python from configuring itself; the CLI then sets logging up for real.
if not logging.getLogger().handlers:
    logging.getLogger().addHandler(logging.NullHandler())
