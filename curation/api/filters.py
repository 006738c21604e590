from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class StrictOrderingFilter(OrderingFilter):
    """Ordering by the view's allow-listed fields only; anything else is a 400 naming the field.

    DRF's own filter silently ignores unknown fields, which hides typos and probing alike.
    """

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if not params:
            return self.get_default_ordering(view)
        allowed = {
            name for name, _label in self.get_valid_fields(queryset, view, {"request": request})
        }
        fields = [param.strip() for param in params.split(",") if param.strip()]
        unknown = [field for field in fields if field.lstrip("-") not in allowed]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: (
                        f"Cannot order by {', '.join(unknown)}; "
                        f"allowed: {', '.join(sorted(allowed)) or 'none'}."
                    )
                }
            )
        return fields

    def get_valid_fields(self, queryset, view, context=None):
        # Never "__all__": a view that names no ordering_fields allows no ordering.
        fields = getattr(view, "ordering_fields", None) or []
        return [(field, field) for field in fields]
