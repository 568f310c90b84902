-- wrk script: POST a fixed form body (token generation).
wrk.method = "POST"
wrk.body = os.getenv("POST_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
