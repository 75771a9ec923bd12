"""Where articles come from: feed documents, and the URL an article is known by. Beam-free."""
