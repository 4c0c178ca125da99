const form = document.getElementById("sign-in");
const message = document.getElementById("message");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  message.className = "";
  message.textContent = "Signing in…";
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({email: form.email.value, password: form.password.value}),
  });
  const body = await response.json();
  if (response.ok) {
    message.textContent = `Signed in as ${body.user.full_name} (${body.user.role}).`;
  } else {
    message.className = "error";
    message.textContent = body.detail || "Sign-in failed.";
  }
});
