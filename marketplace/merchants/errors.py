from marketplace.errors import NotFound


class MerchantNotFound(NotFound):
    def __init__(self, merchant_id: str):
        super().__init__(f"No merchant {merchant_id}.")
