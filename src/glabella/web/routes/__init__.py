"""Route modules of the web app, one per feature (registered in ``glabella.web.app``)."""
