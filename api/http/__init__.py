"""The HTTP edge: the FastAPI application, its routes, schemas and problems."""
