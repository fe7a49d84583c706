"""Request and response models (Create / Public / list forms, as in full-stack-fastapi-template)."""
