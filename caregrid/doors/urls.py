"""URLs of the doors pages."""

app_name = "doors"
urlpatterns: list = []
