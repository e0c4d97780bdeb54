"""Help-request text as the classifier and the red-flag rules read it.

The same cleaning the registry applies to what people type (people/validation.py): full-width forms to
half-width (NFKC), Traditional characters to Simplified (opencc), runs of whitespace to one space.
"""

from caregrid.people.validation import clean_text


def normalize(text: str | None) -> str:
    """`normalize("紫東花苑１９幢  ４０５")` → `"紫东花苑19幢 405"`."""
    return clean_text(text)
