//! Errors as HMA answers them: `{"message": …}` with the status, and 422
//! with pydantic's list of problems for a missing or invalid parameter.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use marsad_engine::EngineError;
use serde_json::{Value, json};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    body: Value,
    authenticate: bool,
}

impl ApiError {
    /// `{"message": message}` with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, body: json!({ "message": message.into() }), authenticate: false }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError { authenticate: true, ..ApiError::new(StatusCode::UNAUTHORIZED, message) }
    }

    /// 503.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500 with HMA's words (the cause goes to the log, not to the client).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server encountered an internal error and was unable to complete your request. \
             Either the server is overloaded or there is an error in the application.",
        )
    }

    /// 422 as pydantic (through flask-openapi3) reports a missing field:
    /// `[{"type": "missing", "loc": [name], "msg": "Field required", "input":
    /// input, "url": …}]`. HMA validates each part of the request (query,
    /// body) with its own model, so `loc` is the field alone.
    pub fn missing(name: &str, input: Value) -> Self {
        ApiError::validation(json!([{
            "type": "missing",
            "loc": [name],
            "msg": "Field required",
            "input": input,
            "url": "https://errors.pydantic.dev/2.11/v/missing",
        }]))
    }

    /// 422 as pydantic reports a value it cannot parse.
    pub fn invalid_field(name: &str, kind: &str, msg: &str, input: Value) -> Self {
        ApiError::validation(json!([{
            "type": kind,
            "loc": [name],
            "msg": msg,
            "input": input,
            "url": format!("https://errors.pydantic.dev/2.11/v/{kind}"),
        }]))
    }

    /// 422 as pydantic reports a body that is not an object (or not JSON,
    /// then `input` is null): `loc` is empty, `ctx` names the model.
    pub fn not_a_model(class_name: &str, input: Value) -> Self {
        ApiError::validation(json!([{
            "type": "model_type",
            "loc": [],
            "msg": format!("Input should be a valid dictionary or instance of {class_name}"),
            "input": input,
            "ctx": {"class_name": class_name},
            "url": "https://errors.pydantic.dev/2.11/v/model_type",
        }]))
    }

    /// `errors` as one answer: their 422s as one 422 listing every problem
    /// in order, as pydantic reports all the invalid fields of a model at
    /// once; an error of another kind is answered alone. (Called with at
    /// least one error; none would be an internal error.)
    pub fn all_of(errors: impl IntoIterator<Item = ApiError>) -> Self {
        let mut problems = Vec::new();
        for e in errors {
            match e.body {
                Value::Array(list) if e.status == StatusCode::UNPROCESSABLE_ENTITY => problems.extend(list),
                _ => return e,
            }
        }
        if problems.is_empty() {
            return ApiError::internal("all_of called without an error");
        }
        ApiError::validation(Value::Array(problems))
    }

    fn validation(body: Value) -> Self {
        ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, body, authenticate: false }
    }

    /// The body (for the audit log and tests).
    pub fn body(&self) -> &Value {
        &self.body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if self.authenticate {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(m) => ApiError::bad_request(m),
            EngineError::NotFound(m) => ApiError::not_found(m),
            EngineError::Conflict(m) => ApiError::forbidden(m),
            EngineError::Store(marsad_store::StoreError::Busy { seconds }) => ApiError::unavailable(format!(
                "the store is locked by another writer for more than {seconds} s; try again"
            )),
            other => ApiError::internal(other),
        }
    }
}

impl From<marsad_store::StoreError> for ApiError {
    fn from(e: marsad_store::StoreError) -> Self {
        ApiError::from(EngineError::from(e))
    }
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
