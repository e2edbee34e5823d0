"""Admin of the example shop: the product changelist with django-imageops' actions."""

from django.contrib import admin

from .models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Products, with the image operations as changelist actions."""

    list_display = ["name", "photo"]
    search_fields = ["name"]
