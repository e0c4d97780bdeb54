"""URLs of the sampling pages."""

app_name = "sampling"
urlpatterns: list = []
