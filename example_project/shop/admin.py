"""Admin of the example shop: products with django-imageops' actions and their jobs inline."""

from django.contrib import admin

from django_imageops.admin import ImageJobInline, ImageOpsAdminMixin

from .models import Product


@admin.register(Product)
class ProductAdmin(ImageOpsAdminMixin, admin.ModelAdmin):
    """Products: the changelist offers Remove background, Uncrop, Reimagine and Crop on the
    photo; the change page shows the derived images' state and the product's jobs."""

    list_display = ["name", "photo", "cutout", "banner"]
    search_fields = ["name"]
    imageops_fields = ["photo"]
    inlines = [ImageJobInline]
