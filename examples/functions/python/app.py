"""The Python example function: handler "app.handler"."""


def handler(event, context):
    name = event.get("name") or "world"
    print(f"greeting {name}")
    return {"message": f"hello, {name}!", "runtime": "python"}
