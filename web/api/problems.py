"""Errors as ``application/problem+json`` (RFC 9457): a status, a title, the detail a
person can act on, and always a stable ``code`` and the Chinese message ``zh`` — for a
refusal by the books, the operation's own named code and message.

:func:`problem` is also what ``web.errors`` answers with for an address under ``/api/``
that no route serves (404, 413): it fills in the code and Chinese of the status.
:func:`init_errors` makes every other error of an API request a problem: HTTP errors,
refusals by the books (422; a list's bad filter 400), a body that does not match its
schema (422, each field named), and anything unexpected (500, logged).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, json, request
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ledger.errors import FilterError, LedgerError
from ledger.idempotency import IdempotencyKeyBusyError, InvalidIdempotencyKeyError
from web.api.schemas import NOT_MONEY, NOT_MONEY_ZH

#: status → (code, title, English detail, Chinese) for errors that carry no code of
#: their own.
STATUS = {
    400: ("bad-request", "Bad request", "The request is malformed.", "请求格式不正确。"),
    401: (
        "unauthorized", "Unauthorized",
        "Sign in, or send a valid API token: Authorization: Bearer <token>.",
        "请先登录，或提供有效的接口令牌（Authorization: Bearer <令牌>）。",
    ),
    403: ("forbidden", "Forbidden", "Your role does not allow this.", "您的角色无权执行此操作。"),
    404: ("not-found", "Not found", "There is nothing at this address.", "此地址没有内容。"),
    405: (
        "method-not-allowed", "Method not allowed",
        "This address does not take this method.", "此地址不支持该请求方法。",
    ),
    409: ("conflict", "Conflict", "The request conflicts with another.", "请求与另一请求冲突。"),
    413: (
        "too-large", "Payload too large",
        "The request is larger than the upload limit.", "请求超过上传大小限制。",
    ),
    415: (
        "unsupported-media-type", "Unsupported media type",
        "Send this request as application/json.", "请以 application/json 格式发送该请求。",
    ),
    422: ("refused", "Unprocessable content", "The request was refused.", "请求被拒绝。"),
    500: (
        "internal-error", "Internal server error",
        "Something went wrong on the server; nothing was changed.",
        "服务器内部错误，未做任何更改。",
    ),
}  # fmt: skip


def problem(status: int, title: str | None = None, detail: str | None = None, **extra) -> Response:
    """A problem response; ``code`` and ``zh`` default to the status's."""
    code, std_title, std_detail, std_zh = STATUS.get(status, STATUS[400 if status < 500 else 500])
    body = {
        "type": "about:blank",
        "status": status,
        "title": str(title or std_title),
        "detail": str(detail or std_detail),
        "code": extra.pop("code", None) or code,
        "zh": extra.pop("zh", None) or std_zh,
        "instance": request.path if request else None,
        **extra,
    }
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fundledger"'
    return response


def refusal(error: LedgerError, status: int | None = None) -> Response:
    """A refusal by the books: its named code and Chinese message. A read refuses only
    what it was asked (a filter): a 400; a change refused is a 422."""
    bad_request = isinstance(error, FilterError | InvalidIdempotencyKeyError)
    status = status or (400 if bad_request or request.method == "GET" else 422)
    if isinstance(error, IdempotencyKeyBusyError):
        status = 409
    extra = {}
    if hasattr(error, "key"):
        extra["key"] = error.key
    return problem(
        status, STATUS[status][1], str(error), code=error.code, zh=error.zh or str(error), **extra
    )


def invalid(error: ValidationError, status: int = 422, where: str = "body") -> Response:
    """A body (422) or a query (400) that does not match its schema: each field named."""
    errors = list(_flatten(error.messages))
    first = errors[0] if errors else {"field": "", "message": "", "zh": ""}
    names = ", ".join(e["field"] for e in errors)
    return problem(
        status,
        "Invalid request" if where == "query" else STATUS[422][1],
        f"{names}: {first['message']}" if len(errors) == 1 else f"invalid fields: {names}",
        code="invalid-query" if where == "query" else "invalid-body",
        zh="；".join(f"{e['field']}：{e['zh']}" for e in errors),
        errors=errors,
    )


def _flatten(messages, prefix: str = ""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
            yield from _flatten(value, name)
    elif isinstance(messages, list | tuple):
        for message in messages:
            if isinstance(message, dict | list):
                yield from _flatten(message, prefix)
            else:
                yield {"field": prefix, "message": str(message), "zh": chinese(str(message))}
    else:
        yield {"field": prefix, "message": str(messages), "zh": chinese(str(messages))}


#: marshmallow's own messages, and the API's, in Chinese.
ZH = {
    "Missing data for required field.": "缺少必填字段。",
    "Field may not be null.": "该字段不能为空（null）。",
    "Not a valid string.": "不是有效的字符串。",
    "Not a valid integer.": "不是有效的整数。",
    "Not a valid date.": "不是有效的日期（应为 YYYY-MM-DD）。",
    "Not a valid boolean.": "不是有效的布尔值。",
    "Unknown field.": "未知字段。",
    "Invalid input type.": "输入类型无效（应为 JSON 对象）。",
    "Shorter than minimum length 1.": "不能为空。",
    NOT_MONEY: NOT_MONEY_ZH,
}


def chinese(message: str) -> str:
    """A validation message in Chinese (the API's own carry theirs after a "|")."""
    if message in ZH:
        return ZH[message]
    if message.startswith("Must be one of: "):
        return "应为以下之一：" + message[len("Must be one of: ") :].rstrip(".").replace(", ", "、")
    if message.startswith("Longer than maximum length "):
        return f"长度不能超过 {message.rsplit(' ', 1)[-1].rstrip('.')} 个字符。"
    if message.startswith("Must be greater than or equal to "):
        return f"应不小于 {message.rsplit(' ', 1)[-1].rstrip('.')}。"
    return message


def init_errors(bp: Blueprint) -> None:
    """Every error of a request to one of ``bp``'s routes becomes a problem."""

    @bp.errorhandler(CSRFError)
    def csrf(error: CSRFError):
        return problem(
            400, "CSRF token missing or wrong",
            "A request signed in by the browser session must send the page's CSRF token in "
            f"the X-CSRFToken header ({error.description}).",
            code="csrf-token",
            zh="通过浏览器会话发送的请求须在 X-CSRFToken 头中附上页面的 CSRF 令牌。",
        )  # fmt: skip

    @bp.errorhandler(HTTPException)
    def http(error: HTTPException):
        if error.code in STATUS and error.code not in (400, 500):
            return problem(error.code)
        return problem(error.code or 500, error.name, error.description)

    @bp.errorhandler(LedgerError)
    def refused(error: LedgerError):
        return refusal(error)

    @bp.errorhandler(ValidationError)
    def validation(error: ValidationError):
        return invalid(error)

    @bp.errorhandler(Exception)
    def unexpected(error: Exception):
        current_app.logger.exception("API request failed: %s %s", request.method, request.path)
        return problem(500)


def init_app_errors(app: Flask) -> None:
    """A method an ``/api/`` address does not take is answered before any route is
    found: the application's handler, a problem for the API's addresses only."""

    def not_allowed(error: HTTPException):
        if request.path.startswith("/api/"):
            response = problem(405)
            response.headers["Allow"] = ", ".join(error.valid_methods or ())
            return response
        return error

    app.register_error_handler(405, not_allowed)
