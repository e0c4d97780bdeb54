"""What every app's form views share."""

from django.core.exceptions import ValidationError


def form_errors(form, error: ValidationError) -> None:
    """Put an action's ValidationError on the form: each field's messages on the field, the rest on the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)
