"""newsbeam's pipeline: options, the graph that joins the transforms, the CLI, the store."""
