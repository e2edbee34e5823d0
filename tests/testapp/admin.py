"""Admin of the test models: the image operation actions and the job inline."""

from django.contrib import admin

from django_imageops.admin import ImageJobInline, ImageOpsAdminMixin

from .models import Listing, Photo, Picture, Product


@admin.register(Photo)
class PhotoAdmin(ImageOpsAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "title")
    inlines = [ImageJobInline]


@admin.register(Product)
class ProductAdmin(ImageOpsAdminMixin, admin.ModelAdmin):
    inlines = [ImageJobInline]


@admin.register(Picture)
class PictureAdmin(ImageOpsAdminMixin, admin.ModelAdmin):
    inlines = [ImageJobInline]


@admin.register(Listing)
class ListingAdmin(ImageOpsAdminMixin, admin.ModelAdmin):
    imageops_fields = ["photo"]
    inlines = [ImageJobInline]
