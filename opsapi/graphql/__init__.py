"""GraphQL building blocks shared by every app: scoping, pages, IDs, errors."""
